-- The next model version number; the lock keeps two trainers from taking the same one.
lock table segflow.model_versions in share row exclusive mode;
select coalesce(max(version), 0) + 1 from segflow.model_versions
