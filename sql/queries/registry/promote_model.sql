-- Make one version the champion; run after retire_champion, in the same transaction.
update segflow.model_versions
set status = 'champion', promoted_at = now()
where version = %(version)s
returning version
