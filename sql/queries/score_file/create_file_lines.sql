-- The lines of a file being scored (`segflow score-file --transactions`), shaped like segflow.transactions so the
-- staging layer (sql/staging) reads them with segflow's own rules; gone at the end of the transaction.
create temporary table score_file_lines (like segflow.transactions including defaults) on commit drop
