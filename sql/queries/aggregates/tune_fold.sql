-- For the rest of the fold's transaction: room to sort and hash a rebuild's lines in memory (the default 4 MB
-- spills a million lines to disk).
set local work_mem = '256MB'
