-- Known, active (clustered) and inactive customers of a run, and the run's own RFM cut points.
update segflow.run_attempts as r
set
    customers_known = c.known,
    customers_active = c.active,
    customers_inactive = c.known - c.active,
    rfm_cut_points = %(rfm_cut_points)s::jsonb
from (
    select count(*) as known, count(*) filter (
        where case when %(uses_transactions)s then frequency is not null else attributes is not null end
    ) as active
    from segflow.customer_features
    where attempt_id = %(attempt_id)s
) as c
where r.attempt_id = %(attempt_id)s
