"""The one service layer: every operation exists here once; REST and GraphQL only adapt it."""
