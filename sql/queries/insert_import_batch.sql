insert into segflow.import_batches (source_kind, source_name, content_sha256, layout)
values (%(kind)s, %(name)s, %(sha256)s, %(layout)s)
returning batch_id
