-- title: loss ratio (claims incurred / premiums earned), the company, top 10 cells by claims incurred
-- layer: gold
SELECT month, line_of_business, state, premiums_earned, claims_incurred, loss_ratio
FROM kpi_loss_ratio
WHERE premiums_earned > 0
ORDER BY claims_incurred DESC, month
LIMIT 10
