"""Serving: what answers questions outside the nightly: the scoring API and its uploads, score-file, customer
lookups, and the BI logins and the descriptions of the BI schema."""
