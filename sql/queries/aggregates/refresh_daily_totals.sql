-- Each touched day's data-quality counts, recomputed from invoice_day_totals (every day when %(everything)s);
-- a day left with no line is removed.
with touched as (
    select distinct day
    from folding_keys
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
    where %(everything)s or t.day in (select day from touched)
    group by t.day
),

gone as (
    delete from segflow.daily_line_totals as d
    where d.day in (select day from touched)
        and d.day not in (select day from recomputed)
)

insert into segflow.daily_line_totals (
    day, lines, unknown_customer_lines, return_lines, non_positive_price_lines, purchase_lines
)
select day, lines, unknown_customer_lines, return_lines, non_positive_price_lines, purchase_lines
from recomputed
on conflict (day) do update
set lines = excluded.lines,
    unknown_customer_lines = excluded.unknown_customer_lines,
    return_lines = excluded.return_lines,
    non_positive_price_lines = excluded.non_positive_price_lines,
    purchase_lines = excluded.purchase_lines
