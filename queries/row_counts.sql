-- title: rows in every {layer} table
-- layer: silver, gold
-- Template: one SELECT per table of the layer (the table specs in lakehouse/), joined by UNION ALL.
SELECT '{table}' AS table_name, count(*) AS row_count FROM {table}
