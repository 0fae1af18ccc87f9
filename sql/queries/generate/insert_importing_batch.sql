-- A generated batch that its parts are still writing: 'importing' until mark_batch_imported.
insert into segflow.import_batches (source_kind, source_name, content_sha256, layout, options, status)
values ('generator', %(name)s, %(sha256)s, %(layout)s, %(options)s::jsonb, 'importing')
returning batch_id
