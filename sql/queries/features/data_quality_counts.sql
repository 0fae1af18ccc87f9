-- How many lines each data-quality rule excludes from purchases, as of a date, from the per-day totals of the
-- aggregates (every line is counted once, by the first rule it breaks, in this order: after the as-of date,
-- unknown customer, return, non-positive price; of the remaining purchase lines, extra copies of exact
-- duplicates). Equal, exactly, to data_quality_counts_from_lines.sql over every line.
with days as (
    select
        d.lines,
        d.unknown_customer_lines,
        d.return_lines,
        d.non_positive_price_lines,
        d.purchase_lines,
        d.day > %(as_of)s::date as after_as_of
    from segflow.daily_line_totals as d
),

sums as (
    select
        coalesce(sum(lines), 0) as lines_total,
        coalesce(sum(lines) filter (where after_as_of), 0) as after_as_of,
        coalesce(sum(unknown_customer_lines) filter (where not after_as_of), 0) as unknown_customer,
        coalesce(sum(return_lines) filter (where not after_as_of), 0) as cancellation_or_return,
        coalesce(sum(non_positive_price_lines) filter (where not after_as_of), 0) as non_positive_price,
        coalesce(sum(purchase_lines) filter (where not after_as_of), 0) as purchase_lines
    from days
),

final as (
    select
        lines_total::bigint as lines_total,
        purchase_lines::bigint as purchase_lines,
        after_as_of::bigint as excluded_after_as_of,
        unknown_customer::bigint as excluded_unknown_customer,
        cancellation_or_return::bigint as excluded_cancellation_or_return,
        non_positive_price::bigint as excluded_non_positive_price,
        (lines_total - after_as_of - unknown_customer - cancellation_or_return - non_positive_price
            - purchase_lines)::bigint as excluded_duplicate
    from sums
)

select * from final
