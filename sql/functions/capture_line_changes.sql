-- Change capture on segflow.transactions, for whoever writes to it (segflow's imports, a user's SQL or ETL):
-- every insert, update or delete statement records the (customer, invoice, UTC day) keys of the lines it
-- touched in segflow.changed_line_keys, in the writer's own transaction, so a fold never misses a line and
-- never sees one that was rolled back. Statement triggers with transition tables: one insert per statement,
-- not per line. The UTC day is the same as staging/lines.sql's `day`. A truncate cannot name its lines: it
-- asks for a full rebuild.

create or replace function segflow.capture_changed_line_keys() returns trigger
language plpgsql as $$
begin
    if lower(tg_op) in ('insert', 'update') then
        insert into segflow.changed_line_keys (customer_id, invoice_id, day)
        select distinct n.customer_id::text, n.invoice_id::text, (n.invoiced_at at time zone 'UTC')::date
        from changed_new as n;
    end if;
    if lower(tg_op) in ('delete', 'update') then
        insert into segflow.changed_line_keys (customer_id, invoice_id, day)
        select distinct o.customer_id::text, o.invoice_id::text, (o.invoiced_at at time zone 'UTC')::date
        from changed_old as o;
    end if;
    return null;
end;
$$;

create or replace function segflow.request_aggregate_rebuild() returns trigger
language plpgsql as $$
begin
    update segflow.aggregate_state
    set needs_rebuild = true, rebuild_reason = 'segflow.transactions was truncated';
    return null;
end;
$$;

create or replace trigger transactions_capture_inserts
    after insert on segflow.transactions
    referencing new table as changed_new
    for each statement execute function segflow.capture_changed_line_keys();

create or replace trigger transactions_capture_updates
    after update on segflow.transactions
    referencing old table as changed_old new table as changed_new
    for each statement execute function segflow.capture_changed_line_keys();

create or replace trigger transactions_capture_deletes
    after delete on segflow.transactions
    referencing old table as changed_old
    for each statement execute function segflow.capture_changed_line_keys();

create or replace trigger transactions_request_rebuild_on_truncate
    after truncate on segflow.transactions
    for each statement execute function segflow.request_aggregate_rebuild();
