-- Written to run on a database that already holds transactions:
-- * loaded_at records when a line arrived; rows that predate this migration get the migration's
--   time (now() is stable, so PostgreSQL stores it once as a fast default instead of rewriting the table);
-- * the per-customer index serves the RFM aggregation "every line of a customer up to a date",
--   carrying the columns it sums so the aggregation can run from the index alone.

alter table segflow.transactions
    add column loaded_at timestamptz not null default now();

create index transactions_customer_time_idx
    on segflow.transactions (customer_id, invoiced_at)
    include (invoice_id, quantity, unit_price)
    where customer_id is not null;
