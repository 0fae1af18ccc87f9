-- Before a promotion, in the same transaction: the current champion (if another version) retires.
update segflow.model_versions
set status = 'retired'
where status = 'champion' and version <> %(version)s
    and exists (select 1 from segflow.model_versions where version = %(version)s)
