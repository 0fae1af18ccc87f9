-- Keys of segflow.transactions are not needed when the aggregates are rebuilt or reflect another source.
delete from segflow.changed_line_keys
