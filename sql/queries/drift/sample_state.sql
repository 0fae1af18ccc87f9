-- Whether an attempt has its counts (and so its sample: both are filled together), and whether its per-customer
-- rows are still there to fill them from.
select
    exists (select from segflow.run_segment_counts where attempt_id = %(attempt_id)s) as counted,
    exists (select from segflow.segment_assignments where attempt_id = %(attempt_id)s) as has_rows
