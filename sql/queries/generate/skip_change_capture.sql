-- For the rest of a part's transaction: no trigger fires (neither change capture nor the batch's foreign key
-- check, which holds: the batch was committed first). Only after request_rebuild_after_generation.
set local session_replication_role = replica
