-- Mean R, F and M scores (1-5 quintile scores, 5 = most recent, most frequent, highest spend) per
-- segment of an attempt; customers without a score (inactive, attribute-only runs) count as missing.
with assignments as (
    select segment_key, r_score, f_score, m_score
    from segflow.segment_assignments
    where attempt_id = %(attempt_id)s
),

final as (
    select
        segment_key,
        avg(r_score)::double precision as mean_r_score,
        avg(f_score)::double precision as mean_f_score,
        avg(m_score)::double precision as mean_m_score
    from assignments
    group by segment_key
)

select * from final
order by segment_key
