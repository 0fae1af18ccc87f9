-- Synthetic lines generated inside PostgreSQL, set-based, with segflow generate's distributions
-- (segflow/data/generate_in_database.py passes its archetypes, catalog, season and countries as arrays).
-- Every draw is segflow.generator_uniform(seed, key, stream): a hash of what it is drawn for, so the same
-- parameters always give the same lines, whatever the plan. Keys: a customer is c (0-based); its n-th order
-- (1-based, 4095 at most) and whether it is the guest order drawn beside it make the order key
-- (c * 4096 + n) * 2 + guest; a line's key is order key * 256 + its number; what a line emits (0 the line,
-- 1 its cancellation, 2 an adjustment) is line key * 4 + variant.
-- Poisson draws: below a mean of 40, a row of the poisson table (the mean in tenths, rounded up or down at random
-- so the mean is kept) and one of its 1024 equal-probability quantiles; from 40 a rounded normal.
-- Arrays are 1-based: archetype k is element k; season_cdf element d + 1 is the cumulative order weight up to day d
-- (0-based). Each level ends in `offset 0` so its columns are computed once per row, not re-derived in every
-- expression above it; rows carry no large arrays (a join or sort that copied them would write gigabytes).
-- Lines are written in customer order, not time order. One statement writes the customers first_customer ..
-- last_customer (0-based, inclusive): no draw depends on the range, so parts of any size give the same lines.
with poisson as (
    select m as mean_tenths, (%(poisson)s::integer[])[m * 1024 + 1:m * 1024 + 1024] as draws
    from generate_series(0, 400) as m
),

-- The catalog as rows: per-line subscripts of text or numeric arrays walk them from the start, a join does not.
catalog as (
    select c.product::integer as product, c.stock_code, c.description, c.price
    from unnest(%(stock_codes)s::text[], %(descriptions)s::text[], %(prices)s::numeric[])
        with ordinality as c (stock_code, description, price, product)
),

-- Customers of this part: archetype, active window [active_from, active_to) in days, appetite, country.
customers as (
    select
        c.c,
        'G' || %(seed)s::bigint || '-' || lpad(c.c::text, greatest(7, length(c.c::text)), '0') as customer_id,
        k.kind,
        w.active_from,
        greatest(w.active_from + 1, floor(
            ((%(end_low)s::float8[])[k.kind]
                + ((%(end_high)s::float8[])[k.kind] - (%(end_low)s::float8[])[k.kind])
                * segflow.generator_uniform(%(seed)s, c.c, 3))
            * %(days)s
        )::integer) as active_to,
        a.appetite,
        (%(countries)s::text[])[
            width_bucket(segflow.generator_uniform(%(seed)s, c.c, 10), %(country_thresholds)s::float8[]) + 1
        ] as country
    from generate_series(%(first_customer)s::bigint, %(last_customer)s::bigint) as c (c)
    cross join lateral (
        select width_bucket(segflow.generator_uniform(%(seed)s, c.c, 1), %(kind_thresholds)s::float8[]) + 1 as kind
    ) as k
    cross join lateral (
        select floor(
            ((%(start_low)s::float8[])[k.kind]
                + ((%(start_high)s::float8[])[k.kind] - (%(start_low)s::float8[])[k.kind])
                * segflow.generator_uniform(%(seed)s, c.c, 2))
            * (%(days)s - 1)
        )::integer as active_from
    ) as w
    cross join lateral (
        -- exp(N(0, 0.35)), the normal by Box-Muller
        select exp(0.35 * sqrt(-2 * ln(segflow.generator_uniform(%(seed)s, c.c, 4)))
            * cos(2 * pi() * segflow.generator_uniform(%(seed)s, c.c, 5))) as appetite
    ) as a
    offset 0
),

-- Orders per customer: one for one-time buyers, else 1 + Poisson(expected orders in its window - 1).
customer_orders as (
    select
        cu.*,
        case
            when (%(one_order)s::boolean[])[cu.kind] then 1
            else 1 + least(4094, coalesce(
                pz.draws[floor(segflow.generator_uniform(%(seed)s, cu.c, 7) * 1024)::integer + 1],
                greatest(0, floor(m.mean + sqrt(m.mean) * sqrt(-2 * ln(segflow.generator_uniform(%(seed)s, cu.c, 6)))
                    * cos(2 * pi() * segflow.generator_uniform(%(seed)s, cu.c, 7)) + 0.5))::integer
            ))
        end as orders
    from customers as cu
    cross join lateral (
        select greatest(
            (%(orders_per_30_days)s::float8[])[cu.kind] * cu.appetite * (cu.active_to - cu.active_from) / 30.0 - 1, 0
        ) as mean
    ) as m
    left join poisson as pz
        on pz.mean_tenths = case
            when m.mean < 40 then floor(m.mean * 10 + segflow.generator_uniform(%(seed)s, cu.c, 6))::integer
        end
    offset 0
),

-- Orders: beside each of a customer's orders, a guest order (no customer) with the guest share's probability.
orders as (
    select
        co.*,
        (co.c * 4096 + n.n) * 2 + g.guest::integer as order_key,
        g.guest,
        n.n
    from customer_orders as co
    cross join generate_series(1, co.orders) as n (n)
    cross join lateral unnest(case
        when segflow.generator_uniform(%(seed)s, (co.c * 4096 + n.n) * 2, 15) < %(guest_share)s then array[false, true]
        else array[false]
    end) as g (guest)
),

-- A seasonal day inside the window (a returning customer's first order opens it), a time of day, a basket size.
placed_orders as (
    select
        o.c,
        o.kind,
        o.appetite,
        o.order_key,
        o.guest,
        case when o.guest then null else o.customer_id end as customer_id,
        case when o.guest then 'United Kingdom' else o.country end as country,
        o.customer_id || case when o.guest then '-g' else '-' end || o.n as invoice_id,
        least(%(days)s - 1, greatest(0, case
            when o.guest then width_bucket(
                segflow.generator_uniform(%(seed)s, o.order_key, 11) * (%(season_cdf)s::float8[])[%(days)s],
                %(season_cdf)s::float8[]
            )
            when o.n = 1 and not (%(one_order)s::boolean[])[o.kind] then o.active_from
            else width_bucket(
                b.low + (b.high - b.low) * segflow.generator_uniform(%(seed)s, o.order_key, 11),
                %(season_cdf)s::float8[]
            )
        end)) as day,
        case
            when o.guest then 36000
            else (25200 + floor(segflow.generator_uniform(%(seed)s, o.order_key, 12) * 46800)::integer) / 60 * 60
        end as second_of_day,
        1 + least(254, coalesce(
            pz.draws[floor(segflow.generator_uniform(%(seed)s, o.order_key, 14) * 1024)::integer + 1], 0
        )) as lines,
        not o.guest and segflow.generator_uniform(%(seed)s, o.order_key, 16) < %(cancelled_share)s as cancelled
    from orders as o
    cross join lateral (
        select
            case when o.active_from > 0 then (%(season_cdf)s::float8[])[o.active_from] else 0 end as low,
            (%(season_cdf)s::float8[])[o.active_to] as high,
            -- guests' baskets: 1 + Poisson(5)
            case when o.guest then 6.0 else (%(basket_lines)s::float8[])[o.kind] end - 1 as extra_lines_mean
    ) as b
    left join poisson as pz
        on pz.mean_tenths = floor(b.extra_lines_mean * 10 + segflow.generator_uniform(%(seed)s, o.order_key, 13))::integer
    offset 0
),

-- Lines: products by popularity (bargain hunters from the cheaper half), quantities by appetite.
order_lines as (
    select
        po.*,
        po.order_key * 256 + l.l as line_key,
        case
            when not po.guest and (%(bargain)s::boolean[])[po.kind] then (%(cheap_products)s::integer[])[
                width_bucket(
                    segflow.generator_uniform(%(seed)s, po.order_key * 256 + l.l, 31), %(cheap_thresholds)s::float8[]
                ) + 1
            ]
            else width_bucket(
                segflow.generator_uniform(%(seed)s, po.order_key * 256 + l.l, 31), %(product_thresholds)s::float8[]
            ) + 1
        end as product,
        1 + coalesce(
            pz.draws[floor(segflow.generator_uniform(%(seed)s, po.order_key * 256 + l.l, 33) * 1024)::integer + 1],
            greatest(0, floor(q.mean + sqrt(q.mean)
                * sqrt(-2 * ln(segflow.generator_uniform(%(seed)s, po.order_key * 256 + l.l, 32)))
                * cos(2 * pi() * segflow.generator_uniform(%(seed)s, po.order_key * 256 + l.l, 33)) + 0.5))::integer
        ) as quantity_drawn
    from placed_orders as po
    cross join generate_series(1, po.lines) as l (l)
    cross join lateral (
        -- guests buy like regulars (archetype 2) with an appetite of 1
        select greatest(
            case
                when po.guest then (%(quantity)s::float8[])[2]
                else (%(quantity)s::float8[])[po.kind] * po.appetite
            end - 1,
            0.1
        ) as mean
    ) as q
    left join poisson as pz
        on pz.mean_tenths = case
            when q.mean < 40
                then floor(q.mean * 10 + segflow.generator_uniform(%(seed)s, po.order_key * 256 + l.l, 32))::integer
        end
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
        case when ol.cancelled and segflow.generator_uniform(%(seed)s, ol.line_key, 36) < 0.6 then 1 end,
        case when segflow.generator_uniform(%(seed)s, ol.line_key, 38) < %(adjustment_share)s then 2 end
    ]) as v (variant)
    where v.variant is not null
),

final as (
    select
        case when e.variant = 1 then 'C' || e.invoice_id else e.invoice_id end as invoice_id,
        case when e.variant = 2 then (array['M', 'B', 'POST'])[a.adjustment] else k.stock_code end as stock_code,
        case
            when e.variant = 2 then (array['Manual', 'Adjust bad debt', 'POSTAGE'])[a.adjustment]
            else k.description
        end as description,
        case e.variant when 1 then -e.quantity_drawn when 2 then 1 else e.quantity_drawn end::numeric as quantity,
        case
            when e.variant = 2 and a.adjustment = 2
                then -round((5 + 195 * segflow.generator_uniform(%(seed)s, e.line_key, 40))::numeric, 2)
            when e.variant = 2 then 0
            else k.price
        end as unit_price,
        to_timestamp(%(start_epoch)s + case
            when e.variant = 1 then least(
                e.day * 86400 + e.second_of_day
                + (1 + floor(segflow.generator_uniform(%(seed)s, e.line_key, 37) * 4)::integer) * 86400,
                %(days)s * 86400 - 60
            )
            else e.day * 86400 + e.second_of_day
        end) as invoiced_at,
        e.customer_id,
        e.country,
        %(batch_id)s::bigint as batch_id
    from emitted as e
    inner join catalog as k on e.product = k.product
    cross join lateral (
        select 1 + floor(segflow.generator_uniform(%(seed)s, e.line_key, 39) * 3)::integer as adjustment
    ) as a
    -- an exact copy of the duplicate share of everything emitted
    cross join generate_series(
        1, case when segflow.generator_uniform(%(seed)s, e.emitted_key, 41) < %(duplicate_share)s then 2 else 1 end
    ) as copies (copy)
)

insert into segflow.transactions (
    invoice_id, stock_code, description, quantity, unit_price, invoiced_at, customer_id, country, batch_id
)
select invoice_id, stock_code, description, quantity, unit_price, invoiced_at, customer_id, country, batch_id
from final
