-- title: market share against the SUSEP market, top 10 cells by company premiums written
-- layer: gold
SELECT month, line_of_business, state, company_premiums_written, market_premiums_written, market_share
FROM kpi_market_share
WHERE market_share IS NOT NULL
ORDER BY company_premiums_written DESC, month
LIMIT 10
