{
 "id": 650573450,
 "full_name": "ggml-org/llama.cpp",
 "private": false,
 "html_url": "https://github.com/ggml-org/llama.cpp",
 "stargazers_count": 85410,
 "forks_count": 9490,
 "archived": false
}
