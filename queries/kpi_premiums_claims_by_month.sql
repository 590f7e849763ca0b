-- title: premiums and claims by month (the company, from the ERP facts)
-- layer: gold
-- kpi: true
-- description: The company's premiums written and earned, claims incurred and paid, claim count and loss ratio per month, over the lines of business and states that pass the filters
-- key: month
-- column: month fact_premium.month
-- column: premiums_written fact_premium.premiums_written
-- column: premiums_earned fact_premium.premiums_earned
-- column: claim_count kpi_loss_ratio.claim_count
-- column: claims_incurred kpi_loss_ratio.claims_incurred
-- column: claims_paid fact_claim.paid_amount
-- column: loss_ratio kpi_loss_ratio.loss_ratio = claims_incurred / premiums_earned
-- parameters: month_from, month_to, line_of_business, line_of_business, state, state, month_from, month_to, line_of_business, line_of_business, state, state, offset, limit
-- Premiums from fact_premium, claims from fact_claim (the cells of kpi_loss_ratio, plus written and paid).
SELECT month,
       SUM(premiums_written) AS premiums_written,
       SUM(premiums_earned) AS premiums_earned,
       SUM(claim_count) AS claim_count,
       SUM(claims_incurred) AS claims_incurred,
       SUM(claims_paid) AS claims_paid
FROM (
    SELECT month, premiums_written, premiums_earned, CAST(0 AS BIGINT) AS claim_count,
           CAST(0 AS DECIMAL(18, 2)) AS claims_incurred, CAST(0 AS DECIMAL(18, 2)) AS claims_paid
    FROM fact_premium
    WHERE month BETWEEN ? AND ? AND (? = '' OR line_of_business = ?) AND (? = '' OR state = ?)
    UNION ALL
    SELECT month, CAST(0 AS DECIMAL(18, 2)), CAST(0 AS DECIMAL(18, 2)), CAST(claim_count AS BIGINT),
           incurred_amount, paid_amount
    FROM fact_claim
    WHERE month BETWEEN ? AND ? AND (? = '' OR line_of_business = ?) AND (? = '' OR state = ?)
) AS cells
GROUP BY month
ORDER BY month
OFFSET ? LIMIT ?
