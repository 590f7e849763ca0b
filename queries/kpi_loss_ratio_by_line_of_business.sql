-- title: loss ratio by line of business (the company, from kpi_loss_ratio)
-- layer: gold
-- kpi: true
-- description: The company's claims incurred over premiums earned per SUSEP line of business, summed over the months and states that pass the filters
-- key: line_of_business
-- column: line_of_business kpi_loss_ratio.line_of_business
-- column: claim_count kpi_loss_ratio.claim_count
-- column: claims_incurred kpi_loss_ratio.claims_incurred
-- column: premiums_earned kpi_loss_ratio.premiums_earned
-- column: loss_ratio kpi_loss_ratio.loss_ratio = claims_incurred / premiums_earned
-- parameters: month_from, month_to, line_of_business, line_of_business, state, state, offset, limit
SELECT line_of_business,
       SUM(claim_count) AS claim_count,
       SUM(claims_incurred) AS claims_incurred,
       SUM(premiums_earned) AS premiums_earned
FROM kpi_loss_ratio
WHERE month BETWEEN ? AND ? AND (? = '' OR line_of_business = ?) AND (? = '' OR state = ?)
GROUP BY line_of_business
ORDER BY line_of_business
OFFSET ? LIMIT ?
