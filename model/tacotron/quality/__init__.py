"""What a listener gets: free-running measures, held-out sentences, the evaluation report and the gate."""
