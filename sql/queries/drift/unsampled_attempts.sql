-- Attempts with assignments but no counts or sample yet (scored before migration 017): the ones to fill.
select distinct a.attempt_id
from segflow.run_attempts as a
where exists (select from segflow.segment_assignments as s where s.attempt_id = a.attempt_id)
    and not exists (select from segflow.run_segment_counts as c where c.attempt_id = a.attempt_id)
order by a.attempt_id
