-- title: market share by state: the company against the SUSEP market (from kpi_market_share)
-- layer: gold
-- kpi: true
-- description: The company's premiums written over the SUSEP market's per state, summed over the months and lines of business that pass the filters and have SUSEP figures
-- key: state
-- column: state kpi_market_share.state
-- column: company_premiums_written kpi_market_share.company_premiums_written
-- column: market_premiums_written kpi_market_share.market_premiums_written
-- column: market_share kpi_market_share.market_share = company_premiums_written / market_premiums_written
-- parameters: month_from, month_to, line_of_business, line_of_business, state, state, offset, limit
-- Only cells with SUSEP figures (market_premiums_written not null), so both sums cover the same cells.
SELECT state,
       SUM(company_premiums_written) AS company_premiums_written,
       SUM(market_premiums_written) AS market_premiums_written
FROM kpi_market_share
WHERE market_premiums_written IS NOT NULL
  AND month BETWEEN ? AND ? AND (? = '' OR line_of_business = ?) AND (? = '' OR state = ?)
GROUP BY state
ORDER BY state
OFFSET ? LIMIT ?
