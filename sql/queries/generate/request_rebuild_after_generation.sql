-- Lines were written without change capture: the next fold (the generation's own, or a night's if it died)
-- rebuilds the aggregates from every line instead of folding captured keys.
update segflow.aggregate_state
set needs_rebuild = true, rebuild_reason = 'lines were generated into an empty table without change capture'
