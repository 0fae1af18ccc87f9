-- Step 9 of withdrawing: the champion the withdrawn run replaced is champion again (its own promotion, and its
-- promoted_at, are back in effect); segment keys follow with queries/registry/sync_segment_keys.
update segflow.model_versions
set status = 'champion'
where version = %(version)s
returning version
