-- title: market share per month, line of business and state (the rows of kpi_market_share)
-- layer: gold
-- kpi: true
-- description: The company's market share cells: its premiums written over the SUSEP market's per month, line of business and state
-- key: month, line_of_business, state
-- column: month kpi_market_share.month
-- column: line_of_business kpi_market_share.line_of_business
-- column: state kpi_market_share.state
-- column: company_premiums_written kpi_market_share.company_premiums_written
-- column: market_premiums_written kpi_market_share.market_premiums_written
-- column: market_insurers kpi_market_share.market_insurers
-- column: company_susep_premiums_written kpi_market_share.company_susep_premiums_written
-- column: market_share kpi_market_share.market_share
-- parameters: month_from, month_to, line_of_business, line_of_business, state, state, offset, limit
SELECT month, line_of_business, state, company_premiums_written, market_premiums_written, market_insurers,
       company_susep_premiums_written, market_share
FROM kpi_market_share
WHERE month BETWEEN ? AND ? AND (? = '' OR line_of_business = ?) AND (? = '' OR state = ?)
ORDER BY month, line_of_business, state
OFFSET ? LIMIT ?
