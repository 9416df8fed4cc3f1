-- Nexmark Q0
SELECT auction, bidder, price, `dateTime`, extra FROM bid;
