create temporary table attribute_staging (
    customer_id text not null,
    attributes jsonb not null
) on commit drop
