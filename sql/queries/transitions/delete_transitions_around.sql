-- Transitions that a newly published run replaces: into and out of it, and the pair it now sits between.
delete from segflow.segment_transitions
where to_run = %(run_id)s
    or from_run = %(run_id)s
    or (from_run = %(prev_run)s and to_run = %(next_run)s)
