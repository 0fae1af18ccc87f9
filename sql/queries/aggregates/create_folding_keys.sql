-- The (customer, invoice, day) keys one fold removed (sign -1) and wrote (sign +1), with their line counts: their
-- customers are recomputed after it, and their days' data-quality counts change by the signed counts. Keys taken
-- from the capture triggers (sign 0) are the ones to recompute.
create temp table if not exists folding_keys (
    customer_id text,
    invoice_id text not null,
    day date not null,
    sign integer not null default 0,
    lines bigint not null default 0,
    unknown_customer_lines bigint not null default 0,
    return_lines bigint not null default 0,
    non_positive_price_lines bigint not null default 0,
    purchase_lines bigint not null default 0
) on commit drop
