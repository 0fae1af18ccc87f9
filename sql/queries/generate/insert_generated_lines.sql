-- Synthetic lines generated inside PostgreSQL, set-based, with segflow generate's distributions
-- (segflow/data/generate_in_database.py passes its archetypes, catalog, season and countries as arrays).
-- Every draw is segflow.generator_uniform(seed, key, stream): a hash of what it is drawn for, so the same
-- parameters always give the same lines, whatever the plan. Keys: a customer is c (0-based); its n-th order
-- (1-based, 4095 at most) and whether it is the guest order drawn beside it make the order key
-- (c * 4096 + n) * 2 + guest; a line's key is order key * 256 + its number; what a line emits (0 the line,
-- 1 its cancellation, 2 an adjustment) is line key * 4 + variant.
-- Poisson draws: below a mean of 40 the poisson table's quantile (row: the mean in tenths, rounded up or down
-- at random so the mean is kept; column: one of 1024 equal-probability slices); from 40 a rounded normal.
-- Arrays are 1-based: archetype k is element k, product p element p; cdf element d + 1 is the cumulative season
-- weight up to day d (0-based). Lines are written in customer order, not time order.
with parameters as (
    select
        %(seed)s::bigint as seed,
        %(days)s::integer as days,
        %(start_epoch)s::bigint as start_epoch,
        %(batch_id)s::bigint as batch_id,
        %(poisson)s::integer[] as poisson,
        %(season_cdf)s::double precision[] as cdf,
        %(kind_thresholds)s::double precision[] as kind_thresholds,
        %(orders_per_30_days)s::double precision[] as orders_per_30_days,
        %(basket_lines)s::double precision[] as basket_lines,
        %(quantity)s::double precision[] as quantity,
        %(bargain)s::boolean[] as bargain,
        %(start_low)s::double precision[] as start_low,
        %(start_high)s::double precision[] as start_high,
        %(end_low)s::double precision[] as end_low,
        %(end_high)s::double precision[] as end_high,
        %(one_order)s::boolean[] as one_order,
        %(countries)s::text[] as countries,
        %(country_thresholds)s::double precision[] as country_thresholds,
        %(product_thresholds)s::double precision[] as product_thresholds,
        %(cheap_products)s::integer[] as cheap_products,
        %(cheap_thresholds)s::double precision[] as cheap_thresholds
),

-- The catalog as rows: per-line subscripts of text or numeric arrays walk them from the start, a join does not.
catalog as (
    select c.product::integer as product, c.stock_code, c.description, c.price
    from unnest(%(stock_codes)s::text[], %(descriptions)s::text[], %(prices)s::numeric[])
        with ordinality as c (stock_code, description, price, product)
),

-- Customers: archetype, active window [active_from, active_to) in days, appetite, country, orders.
customers as (
    select
        p.*,
        c.c,
        'G' || p.seed || '-' || lpad(c.c::text, greatest(7, length(c.c::text)), '0') as customer_id,
        k.kind,
        w.active_from,
        greatest(w.active_from + 1, floor(
            (p.end_low[k.kind] + (p.end_high[k.kind] - p.end_low[k.kind]) * segflow.generator_uniform(p.seed, c.c, 3))
            * p.days
        )::integer) as active_to,
        a.appetite,
        p.countries[width_bucket(segflow.generator_uniform(p.seed, c.c, 10), p.country_thresholds) + 1] as country
    from parameters as p
    cross join generate_series(0::bigint, %(customers)s::bigint - 1) as c (c)
    cross join lateral (
        select width_bucket(segflow.generator_uniform(p.seed, c.c, 1), p.kind_thresholds) + 1 as kind
    ) as k
    cross join lateral (
        select floor(
            (p.start_low[k.kind] + (p.start_high[k.kind] - p.start_low[k.kind]) * segflow.generator_uniform(p.seed, c.c, 2))
            * (p.days - 1)
        )::integer as active_from
    ) as w
    cross join lateral (
        -- exp(N(0, 0.35)), the normal by Box-Muller
        select exp(0.35 * sqrt(-2 * ln(segflow.generator_uniform(p.seed, c.c, 4)))
                   * cos(2 * pi() * segflow.generator_uniform(p.seed, c.c, 5))) as appetite
    ) as a
    offset 0
),

customer_orders as (
    select
        cu.*,
        case
            when cu.one_order[cu.kind] then 1
            else 1 + least(4094, e.extra)
        end as orders
    from customers as cu
    cross join lateral (
        select greatest(
            cu.orders_per_30_days[cu.kind] * cu.appetite * (cu.active_to - cu.active_from) / 30.0 - 1, 0
        ) as mean
    ) as m
    cross join lateral (
        select case
            when m.mean < 40 then cu.poisson[floor(m.mean * 10 + segflow.generator_uniform(cu.seed, cu.c, 6))::integer + 1]
                [floor(segflow.generator_uniform(cu.seed, cu.c, 7) * 1024)::integer + 1]
            else greatest(0, floor(m.mean + sqrt(m.mean) * sqrt(-2 * ln(segflow.generator_uniform(cu.seed, cu.c, 6)))
                * cos(2 * pi() * segflow.generator_uniform(cu.seed, cu.c, 7)) + 0.5))::integer
        end as extra
    ) as e
    offset 0
),

-- Orders: a seasonal day inside the window (the first opens it), a time of day, a basket size; beside each, a
-- guest order (no customer) with the guest share's probability.
orders as (
    select
        co.*,
        (co.c * 4096 + n.n) * 2 + g.guest::integer as order_key,
        g.guest,
        n.n
    from customer_orders as co
    cross join generate_series(1, co.orders) as n (n)
    cross join lateral unnest(case
        when segflow.generator_uniform(co.seed, (co.c * 4096 + n.n) * 2, 15) < %(guest_share)s then array[false, true]
        else array[false]
    end) as g (guest)
),

placed_orders as (
    select
        o.*,
        o.customer_id || case when o.guest then '-g' else '-' end || o.n
            as invoice_id,
        least(o.days - 1, greatest(0, case
            when o.guest then width_bucket(
                segflow.generator_uniform(o.seed, o.order_key, 11) * o.cdf[o.days], o.cdf
            )
            when o.n = 1 and not o.one_order[o.kind] then o.active_from
            else width_bucket(b.low + (b.high - b.low) * segflow.generator_uniform(o.seed, o.order_key, 11), o.cdf)
        end)) as day,
        case
            when o.guest then 36000
            else (25200 + floor(segflow.generator_uniform(o.seed, o.order_key, 12) * 46800)::integer) / 60 * 60
        end as second_of_day,
        case when o.guest then 6.0 else o.basket_lines[o.kind] end - 1 as extra_lines_mean,
        not o.guest and segflow.generator_uniform(o.seed, o.order_key, 16) < %(cancelled_share)s as cancelled
    from orders as o
    cross join lateral (
        select
            case when o.active_from > 0 then o.cdf[o.active_from] else 0 end as low,
            o.cdf[o.active_to] as high
    ) as b
    offset 0
),

-- Lines: products by popularity (bargain hunters from the cheaper half), quantities by appetite.
order_lines as (
    select
        po.*,
        po.order_key * 256 + l.l as line_key,
        case
            when not po.guest and po.bargain[po.kind] then po.cheap_products[
                width_bucket(segflow.generator_uniform(po.seed, po.order_key * 256 + l.l, 31), po.cheap_thresholds) + 1
            ]
            else width_bucket(segflow.generator_uniform(po.seed, po.order_key * 256 + l.l, 31), po.product_thresholds) + 1
        end as product,
        1 + case
            when q.mean < 40 then po.poisson[
                floor(q.mean * 10 + segflow.generator_uniform(po.seed, po.order_key * 256 + l.l, 32))::integer + 1
            ][floor(segflow.generator_uniform(po.seed, po.order_key * 256 + l.l, 33) * 1024)::integer + 1]
            else greatest(0, floor(q.mean + sqrt(q.mean)
                * sqrt(-2 * ln(segflow.generator_uniform(po.seed, po.order_key * 256 + l.l, 32)))
                * cos(2 * pi() * segflow.generator_uniform(po.seed, po.order_key * 256 + l.l, 33)) + 0.5))::integer
        end as quantity_drawn
    from placed_orders as po
    cross join lateral (
        select 1 + least(254, case
            when po.extra_lines_mean < 40 then po.poisson[
                floor(po.extra_lines_mean * 10 + segflow.generator_uniform(po.seed, po.order_key, 13))::integer + 1
            ][floor(segflow.generator_uniform(po.seed, po.order_key, 14) * 1024)::integer + 1]
            else 0
        end) as lines
    ) as b
    cross join generate_series(1, b.lines) as l (l)
    cross join lateral (
        -- guests buy like regulars (archetype 2) with an appetite of 1
        select greatest(
            case when po.guest then po.quantity[2] else po.quantity[po.kind] * po.appetite end - 1, 0.1
        ) as mean
    ) as q
    offset 0
),

-- What each line emits: itself; its cancellation ('C' invoice, negative quantity, 1-4 days later) for 60 %% of the
-- lines of a cancelled order; an adjustment (postage, manual, bad debt) for the adjustment share of lines.
emitted as (
    select
        ol.*,
        v.variant,
        ol.line_key * 4 + v.variant as emitted_key
    from order_lines as ol
    cross join lateral unnest(array[
        0,
        case when ol.cancelled and segflow.generator_uniform(ol.seed, ol.line_key, 36) < 0.6 then 1 end,
        case when segflow.generator_uniform(ol.seed, ol.line_key, 38) < %(adjustment_share)s then 2 end
    ]) as v (variant)
    where v.variant is not null
),

final as (
    select
        case when e.variant = 1 then 'C' || e.invoice_id else e.invoice_id end as invoice_id,
        case when e.variant = 2 then (array['M', 'B', 'POST'])[a.adjustment] else k.stock_code end
            as stock_code,
        case
            when e.variant = 2 then (array['Manual', 'Adjust bad debt', 'POSTAGE'])[a.adjustment]
            else k.description
        end as description,
        case e.variant when 1 then -e.quantity_drawn when 2 then 1 else e.quantity_drawn end::numeric as quantity,
        case
            when e.variant = 2 and a.adjustment = 2
                then -round((5 + 195 * segflow.generator_uniform(e.seed, e.line_key, 40))::numeric, 2)
            when e.variant = 2 then 0
            else k.price
        end as unit_price,
        to_timestamp(e.start_epoch + case
            when e.variant = 1 then least(
                e.day * 86400 + e.second_of_day
                    + (1 + floor(segflow.generator_uniform(e.seed, e.line_key, 37) * 4)::integer) * 86400,
                e.days * 86400 - 60
            )
            else e.day * 86400 + e.second_of_day
        end) as invoiced_at,
        case when e.guest then null else e.customer_id end as customer_id,
        case when e.guest then 'United Kingdom' else e.country end as country,
        e.batch_id
    from emitted as e
    inner join catalog as k on e.product = k.product
    cross join lateral (
        select 1 + floor(segflow.generator_uniform(e.seed, e.line_key, 39) * 3)::integer as adjustment
    ) as a
    -- an exact copy of the duplicate share of everything emitted
    cross join generate_series(
        1, case when segflow.generator_uniform(e.seed, e.emitted_key, 41) < %(duplicate_share)s then 2 else 1 end
    ) as copies (copy)
)

insert into segflow.transactions (
    invoice_id, stock_code, description, quantity, unit_price, invoiced_at, customer_id, country, batch_id
)
select invoice_id, stock_code, description, quantity, unit_price, invoiced_at, customer_id, country, batch_id
from final
