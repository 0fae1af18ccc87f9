select exists (select 1 from segflow.import_batches where source_kind = 'generator')
