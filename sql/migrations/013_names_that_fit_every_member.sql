-- Names that fit every member (issue 21, segflow/segments.py): a member whose own R/F/M scores contradict its
-- cluster's name, or whose returns cancel its purchases, carries another segment; the cluster the model put it in
-- is kept beside it. Null for the rule segments the model never saw ('inactive', 'unscored') and for rows written
-- before this migration.
alter table segflow.segment_assignments add column cluster_key text;

-- The inherited name a model's segment no longer fitted (its mean R/F/M scores too far from the name's prototype),
-- so it was renamed; null when the segment kept its name or is new.
alter table segflow.model_segments add column renamed_from text;

-- Per attempt: members moved because their own scores contradicted their cluster's name, members whose returns
-- cancel their purchases ('returned_all'), and members whose final name still contradicts their own scores (the
-- check that must be 0).
alter table segflow.run_attempts
    add column members_moved integer,
    add column members_returned_all integer,
    add column name_contradictions integer;

-- Per segment key, the training sample's customers as the rules name them (rule segments included), so that drift
-- against training compares the run's named segments with the same naming; null for models from before this
-- migration (their reference is model_segments' cluster sizes).
alter table segflow.model_versions add column training_segment_sizes jsonb;
