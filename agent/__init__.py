"""The sales agent: prompt, LLM client, tools, the turn loop and the fallback (agent issue)."""
