-- The (customer, invoice, day) keys one fold recomputes, and every key it removed or wrote: their customers and
-- days are refreshed after it.
create temp table if not exists folding_keys (
    customer_id text,
    invoice_id text not null,
    day date not null
) on commit drop
