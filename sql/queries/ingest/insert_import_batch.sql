insert into segflow.import_batches (source_kind, source_name, content_sha256, layout, options)
values (%(kind)s, %(name)s, %(sha256)s, %(layout)s, %(options)s::jsonb)
returning batch_id
