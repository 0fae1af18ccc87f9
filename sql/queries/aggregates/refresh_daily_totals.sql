-- The data-quality counts per day: changed by the signed counts of the rows a fold removed and wrote (exact:
-- they are whole numbers), or, when %(everything)s, recomputed from every row of invoice_day_totals.
with changes as (
    select
        day,
        sum(sign * lines) as lines,
        sum(sign * unknown_customer_lines) as unknown_customer_lines,
        sum(sign * return_lines) as return_lines,
        sum(sign * non_positive_price_lines) as non_positive_price_lines,
        sum(sign * purchase_lines) as purchase_lines
    from folding_keys
    where not %(everything)s and sign <> 0
    group by day
),

recomputed as (
    select
        t.day,
        sum(t.lines) as lines,
        coalesce(sum(t.lines) filter (where t.customer_id is null), 0) as unknown_customer_lines,
        sum(t.return_lines) as return_lines,
        sum(t.non_positive_price_lines) as non_positive_price_lines,
        sum(t.purchase_lines) as purchase_lines
    from segflow.invoice_day_totals as t
    where %(everything)s
    group by t.day
),

final as (
    select * from changes
    union all
    select * from recomputed
)

insert into segflow.daily_line_totals (
    day, lines, unknown_customer_lines, return_lines, non_positive_price_lines, purchase_lines
)
select day, lines, unknown_customer_lines, return_lines, non_positive_price_lines, purchase_lines
from final
on conflict (day) do update
set lines = daily_line_totals.lines + excluded.lines,
    unknown_customer_lines = daily_line_totals.unknown_customer_lines + excluded.unknown_customer_lines,
    return_lines = daily_line_totals.return_lines + excluded.return_lines,
    non_positive_price_lines = daily_line_totals.non_positive_price_lines + excluded.non_positive_price_lines,
    purchase_lines = daily_line_totals.purchase_lines + excluded.purchase_lines
