-- title: loss ratio per month, line of business and state (the rows of kpi_loss_ratio)
-- layer: gold
-- kpi: true
-- description: The company's loss ratio cells: claims incurred over premiums earned per month, line of business and state
-- key: month, line_of_business, state
-- column: month kpi_loss_ratio.month
-- column: line_of_business kpi_loss_ratio.line_of_business
-- column: state kpi_loss_ratio.state
-- column: claim_count kpi_loss_ratio.claim_count
-- column: claims_incurred kpi_loss_ratio.claims_incurred
-- column: premiums_earned kpi_loss_ratio.premiums_earned
-- column: loss_ratio kpi_loss_ratio.loss_ratio
-- parameters: month_from, month_to, line_of_business, line_of_business, state, state, offset, limit
SELECT month, line_of_business, state, claim_count, claims_incurred, premiums_earned, loss_ratio
FROM kpi_loss_ratio
WHERE month BETWEEN ? AND ? AND (? = '' OR line_of_business = ?) AND (? = '' OR state = ?)
ORDER BY month, line_of_business, state
OFFSET ? LIMIT ?
