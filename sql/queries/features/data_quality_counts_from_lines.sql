-- How many lines of the source table each data-quality rule excludes from purchases, as of a date, counted over
-- every line: the full recompute that data_quality_counts.sql (from the aggregates) must equal exactly.
-- The rules come from the staging layer (sql/staging): every line is counted once, by the first rule it
-- breaks, in this order: after the as-of date, unknown customer, return (cancellation or quantity <= 0),
-- non-positive price; of the remaining purchase lines, extra copies of exact duplicates.
with params as (
    select ((%(as_of)s::date + 1)::timestamp at time zone 'UTC') as end_at
),

rules as (
    select
        count(*) as lines_total,
        count(*) filter (where l.invoiced_at >= p.end_at) as after_as_of,
        count(*) filter (where l.invoiced_at < p.end_at and l.is_unknown_customer) as unknown_customer,
        count(*) filter (where l.invoiced_at < p.end_at and not l.is_unknown_customer and l.is_return)
            as cancellation_or_return,
        count(*) filter (
            where l.invoiced_at < p.end_at and not l.is_unknown_customer and not l.is_return and not l.is_purchase
        ) as non_positive_price
    from ({lines}) as l
    cross join params as p
),

purchase_rows as (
    -- The date is written out (not taken from params) so the filter runs before duplicates are removed.
    select d.customer_id
    from ({distinct_lines}) as d
    where d.invoiced_at < ((%(as_of)s::date + 1)::timestamp at time zone 'UTC') and d.is_purchase
),

final as (
    select
        r.lines_total,
        (select count(*) from purchase_rows) as purchase_lines,
        r.after_as_of as excluded_after_as_of,
        r.unknown_customer as excluded_unknown_customer,
        r.cancellation_or_return as excluded_cancellation_or_return,
        r.non_positive_price as excluded_non_positive_price,
        r.lines_total - r.after_as_of - r.unknown_customer - r.cancellation_or_return - r.non_positive_price
            - (select count(*) from purchase_rows) as excluded_duplicate
    from rules as r
)

select * from final
