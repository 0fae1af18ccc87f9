update segflow.run_attempts
set
    lines_total = %(lines_total)s,
    purchase_lines = %(purchase_lines)s,
    excluded_after_as_of = %(excluded_after_as_of)s,
    excluded_unknown_customer = %(excluded_unknown_customer)s,
    excluded_cancellation_or_return = %(excluded_cancellation_or_return)s,
    excluded_non_positive_price = %(excluded_non_positive_price)s,
    excluded_duplicate = %(excluded_duplicate)s
where attempt_id = %(attempt_id)s
