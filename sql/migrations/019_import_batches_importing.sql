-- A batch written by several connections at once (the in-database generator's parallel parts) is 'importing'
-- until one last transaction folds its lines and marks it 'imported'; a part that fails turns it 'failed' and
-- takes its lines back. Only 'imported' batches count as their content's (import_batches_one_imported_per_content).
alter table segflow.import_batches drop constraint import_batches_status_check;
alter table segflow.import_batches add constraint import_batches_status_check
    check (status in ('importing', 'imported', 'failed', 'removed'));
