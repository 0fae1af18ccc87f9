-- segflow_bi.run_calendar: one row per published run's as-of date, with the calendar fields a chart groups by
-- (join on as_of or run_id). Withdrawn runs are not published, so they are not here.
create or replace view segflow_bi.run_calendar as
with published as (
    select run_id, as_of, attempt_id
    from segflow.run_attempts
    where status = 'published'
),

pointer as (
    select attempt_id from segflow.current_run
),

final as (
    select
        p.as_of,
        p.run_id,
        to_char(p.as_of, 'FMDay') as weekday,
        extract(isodow from p.as_of)::integer as weekday_number,
        extract(week from p.as_of)::integer as iso_week,
        extract(isoyear from p.as_of)::integer as iso_year,
        date_trunc('week', p.as_of)::date as week_start,
        date_trunc('month', p.as_of)::date as month,
        extract(year from p.as_of)::integer as year,
        p.attempt_id in (select attempt_id from pointer) as is_current
    from published as p
)

select * from final;
