-- One-row overview of what is in segflow.transactions, for `segflow demo` and `segflow db status`.
with lines as (
    select invoice_id, customer_id, invoiced_at, quantity, unit_price
    from segflow.transactions
),

final as (
    select
        count(*) as lines,
        count(distinct customer_id) as customers,
        count(distinct invoice_id) as invoices,
        count(*) filter (where customer_id is null) as unknown_customer_lines,
        count(*) filter (where invoice_id like 'C%%' or quantity < 0) as return_lines,
        min(invoiced_at) as first_line_at,
        max(invoiced_at) as last_line_at
    from lines
)

select * from final
