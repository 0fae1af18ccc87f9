-- A new password for an existing BI login ({login} is a quoted identifier).
alter role {login} with login password %(password)s
