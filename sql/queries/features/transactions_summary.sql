-- One-row overview of what is in segflow.transactions (its staged lines), for `segflow demo` and
-- `segflow db status`.
with lines as (
    select invoice_id, customer_id, invoiced_at, is_unknown_customer, is_return
    from ({lines}) as l
),

final as (
    select
        count(*) as lines,
        count(distinct customer_id) as customers,
        count(distinct invoice_id) as invoices,
        count(*) filter (where is_unknown_customer) as unknown_customer_lines,
        count(*) filter (where is_return) as return_lines,
        min(invoiced_at) as first_line_at,
        max(invoiced_at) as last_line_at
    from lines
)

select * from final
