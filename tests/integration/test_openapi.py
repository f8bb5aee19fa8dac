"""The JSON API is documented at /schema, with request bodies and examples, and without the HTML pages."""


async def test_schema_documents_the_contract_api_with_examples(client):
    response = await client.get("/schema")
    assert response.status_code == 200 and "openapi" in response.headers["content-type"]
    document = response.json()
    paths = document["paths"]
    for path in ("/api/v1/events/{slug}/join", "/api/v1/events/{slug}", "/api/v1/events/{slug}/questions",
                 "/api/v1/questions/{question_id}/upvote", "/api/v1/events/{slug}/chat", "/api/v1/events/{slug}/polls",
                 "/api/v1/polls/{poll_id}/responses", "/api/v1/events/{slug}/evaluation",
                 "/api/v1/events/{slug}/live", "/api/v1/events/{slug}/shift", "/api/v1/events/{slug}/announcement",
                 "/api/v1/questions/{question_id}/moderate", "/api/v1/chat/{message_id}",
                 "/api/v1/events/{slug}/evaluation/open", "/api/v1/events/{slug}/results",
                 "/e/{slug}/schedule.xml", "/e/{slug}/schedule.json", "/e/{slug}/schedule.ics"):
        assert path in paths, path
    assert not any(p in paths for p in ("/", "/e/{slug}", "/login", "/e/{slug}/control", "/e/{slug}/questions"))
    for path, method in (("/api/v1/events/{slug}/questions", "post"), ("/api/v1/polls/{poll_id}/responses", "post"),
                         ("/api/v1/events/{slug}/evaluation", "post"), ("/api/v1/events/{slug}/join", "post"),
                         ("/api/v1/events/{slug}/live", "post")):
        body = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert body.get("examples"), path
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    yaml = await client.get("/schema/openapi.yaml")
    assert yaml.status_code == 200 and "/api/v1/events/{slug}/results" in yaml.text
