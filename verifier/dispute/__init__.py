"""Verde-style refereed disputes: bisection logic, the referee's check, BLS on BN254."""
