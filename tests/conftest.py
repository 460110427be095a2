"""Shared test set-up: markers, the fast subset, and a guard against testing another checkout.

Markers (registered here; ``pytest --markers`` lists them):

- ``slow``: takes seconds of wall time (a whole pipeline or benchmark run, a subprocess of the
  kiosk, a soak, Xvfb). ``make test-fast`` (``pytest -m "not slow"``) leaves them out and gives
  feedback in well under a minute; ``make test`` runs everything.
- ``models``: needs the fetched models or demo photos (``make setup``); they fail, never skip,
  when those are missing (see ``modelkit.py``).
- ``system``: drives a system tool (strace, systemd-analyze, shellcheck, Xvfb); skipped on a
  developer machine without it, failed under CI (``systemkit.skip_or_fail``).

Markers are given in the test files (``pytestmark`` or a decorator); :data:`SLOW` lists the
slow tests of files that are otherwise fast, so that a test file need not change to be sorted.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Test ids (``file::name``, parametrisations included) that take seconds; measured with
#: ``pytest --durations=0`` on the 2-core reference machine. Whole files are marked in the file.
SLOW: frozenset[str] = frozenset({
    "test_age_gender.py::test_kiosk_agrees_with_dlib_pipeline",
    "test_aggregates.py::test_the_privacy_guard_lets_exactly_the_aggregates_file_through",
    "test_capture.py::test_capture_backs_off_exponentially",
    "test_capture.py::test_capture_detects_a_stall_and_reopens",
    "test_capture.py::test_capture_recovers_from_a_device_fault",
    "test_capture.py::test_non_realtime_sources_are_lossless_with_a_slow_consumer",
    "test_config.py::test_check_in_a_fresh_process_exits_2_without_traceback",
    "test_demo_scene.py::test_a_real_face_detector_finds_the_faces_where_people_at_says",
    "test_demo_scene.py::test_demo_through_the_capture_thread",
    "test_demo_scene.py::test_frames_have_the_configured_shape_and_vary",
    "test_demo_scene.py::test_realtime_pacing_and_end_without_loop",
    "test_demo_scene.py::test_render_is_cheap",
    "test_detect.py::test_agrees_with_opencv_face_detector[symbolic-biden.jpg]",
    "test_detect.py::test_agrees_with_opencv_face_detector[symbolic-obama3.jpg]",
    "test_doctor.py::test_demo_source_all_good",
    "test_doctor.py::test_missing_camera_fails_with_the_fix",
    "test_embed.py::test_align_matches_opencv_align_crop[astronaut.png]",
    "test_embed.py::test_batched_and_per_crop_sessions_agree",
    "test_embed.py::test_embed_matches_opencv_feature",
    "test_evaluate.py::test_calibrate_and_write_manifest",
    "test_evaluate.py::test_lfw_command",
    "test_evaluate.py::test_utkface_command_with_the_real_estimator",
    "test_evaluate.py::test_utkface_grouping_with_a_stub_estimator",
    "test_evaluate.py::test_widerface_command",
    "test_expression.py::test_probabilities_sum_to_one",
    "test_face_signals.py::test_gaze_at_the_camera_and_away[False]",
    "test_face_signals.py::test_gaze_at_the_camera_and_away[True]",
    "test_fetch.py::test_cold_fetch_downloads_each_carrier_once",
    "test_models.py::test_sface_derived_matches_stock",
    "test_notify.py::test_pings_stop_while_the_main_loop_hangs_and_resume_after",
    "test_pipeline.py::test_cli_bad_config_exits_2_with_line",
    "test_pipeline.py::test_cli_consent_required_demo_run_computes_nothing_about_anyone",
    "test_pipeline.py::test_cli_demo_headless_report",
    "test_pipeline.py::test_cli_missing_model_exits_2_naming_the_fix",
    "test_pipeline.py::test_cli_persisted_aggregates_then_kiosk_stats_plot",
    "test_pipeline.py::test_cli_runs_from_any_directory",
    "test_pipeline.py::test_cli_sigterm_stops_within_two_seconds",
    "test_pipeline.py::test_cli_worker_failure_exits_non_zero",
    "test_pipeline.py::test_models_verify_names_a_corrupted_file",
    "test_pipeline.py::test_ui_never_waits_for_inference",
    "test_privacy_guard.py::test_a_leaking_run_is_caught",
    "test_privacy_guard.py::test_demo_run_under_the_recorder_writes_nothing_and_opens_no_socket",
    "test_privacy_guard.py::test_guard_refuses[open_w]",
    "test_privacy_guard.py::test_prepare_environment_keeps_matplotlib_out_of_home",
    "test_reliability_camera.py::test_a_camera_delivering_only_garbage_counts_as_failed_and_says_why",
    "test_reliability_camera.py::test_a_hang_inside_open_is_a_stall_too",
    "test_reliability_camera.py::test_backoff_is_capped_so_a_returning_camera_is_picked_up_quickly",
    "test_reliability_camera.py::test_pipeline_resumes_within_2_s_of_the_camera_coming_back[unplugged-2.0]",
    "test_reliability_camera.py::test_pipeline_resumes_within_2_s_of_the_camera_coming_back[wedged-2.0]",
    "test_reliability_camera.py::test_pipeline_resumes_within_2_s_of_the_camera_coming_back[wedged_open-0.6]",
    "test_reliability_config.py::test_check_config_command_in_a_fresh_process",
    "test_reliability_config.py::test_fuzz_check_config_exits_0_or_2_and_never_crashes",
    "test_reliability_display.py::test_a_resized_window_is_laid_out_for_its_new_size",
    "test_reliability_display.py::test_display_loss_does_not_hang_the_window_loop",
    "test_reliability_display.py::test_display_loss_is_survived_and_the_display_recreated",
    "test_reliability_display.py::test_lost_display_is_retried_logged_once_and_the_heartbeat_goes_on",
    "test_reliability_display.py::test_window_events_are_survived[camera_lost-fullscreen]",
    "test_reliability_display.py::test_window_events_are_survived[camera_lost-window]",
    "test_reliability_display.py::test_window_events_are_survived[camera_ok-fullscreen]",
    "test_reliability_display.py::test_window_events_are_survived[camera_ok-window]",
    "test_reliability_frames.py::test_8k_frames_are_analysed[negative_strides]",
    "test_reliability_frames.py::test_fuzz_normalise_never_raises_and_keeps_the_contract",
    "test_reliability_frames.py::test_the_full_analyzer_takes_every_odd_frame",
    "test_reliability_models.py::test_missing_model",
    "test_reliability_models.py::test_model_with_wrong_hash",
    "test_reliability_models.py::test_model_with_wrong_input_layout",
    "test_reliability_models.py::test_truncated_model",
    "test_stats.py::test_plot_of_a_file_without_visitors",
    "test_stats.py::test_plot_writes_a_decodable_png",
    "test_synthetic.py::test_a_mirrored_look_draws_the_flipped_photo",
    "test_synthetic.py::test_frames_are_deterministic_per_index",
    "test_synthetic.py::test_standing_scene_has_the_requested_detectable_faces[1]",
    "test_synthetic.py::test_standing_scene_has_the_requested_detectable_faces[4]",
    "test_synthetic.py::test_standing_scene_has_the_requested_detectable_faces[8]",
    "test_systemd_unit.py::test_install_dry_run_console_on_a_pi",
    "test_ui_layout.py::test_property_inside_and_disjoint",
    "test_ui_screens.py::test_cards_glide_with_their_faces_and_never_overlap",
    "test_ui_xvfb.py::test_real_window_under_xvfb",
    "test_watchlist.py::test_from_folder_embeds_largest_faces_and_counts_skips",
    # Whole runs, found with `pytest -m "not slow" --durations=30` (the fast subset took 164 s):
    # a pipeline and window run (the module's shared fixture), a 20 s replay through every model,
    # the layout benchmark, a demo loop recorded through the analyzer (the module's fixture), and
    # subprocesses of the kiosk under the kernel sandbox.
    "test_privacy_guard.py::test_library_caches_go_to_ram",
    "test_privacy_guard.py::test_debug_log_and_report_of_a_demo_run_hold_no_pixels_or_embeddings",
    "test_truthful_numbers.py::test_a_still_photo_replayed_for_20_s_settles_and_holds",
    "test_layout_bench.py::test_layout_bench_on_the_demo_reports_zero_violations",
    "test_truthful_render.py::test_the_recording_has_calibrated_guesses",
    "test_truthful_render.py::test_no_card_shows_a_zero_width_range_or_an_uncalibrated_percentage",
    "test_truthful_render.py::test_every_recorded_face_detail_carries_only_calibrated_confidences",
    "test_sandbox.py::test_redteam_headless",
    "test_sandbox.py::test_redteam_with_a_window",
    "test_sandbox.py::test_running_kiosk_status_shows_seccomp_and_no_new_privs",
    "test_sandbox.py::test_required_refuses_to_start_without_kernel_support",
    "test_sandbox.py::test_best_effort_runs_with_a_warning_for_staff",
    # Each starts the kiosk (or a measuring interpreter) as a subprocess: 1-3 s apiece.
    "test_input_limits.py::test_billion_laughs_config_is_refused",
    "test_input_limits.py::test_a_few_aliases_still_work",
    "test_input_limits.py::test_fifo_config_is_refused_not_waited_for",
    "test_input_limits.py::test_dev_zero_config_is_refused_before_reading",
    "test_input_limits.py::test_big_config_is_refused_by_its_size",
    "test_input_limits.py::test_huge_png_is_skipped_before_decoding",
})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes seconds of wall time; `make test-fast` leaves it out")
    config.addinivalue_line("markers", "models: needs the fetched models or demo photos (`make setup`)")
    config.addinivalue_line("markers", "system: drives a system tool (strace, systemd-analyze, shellcheck, Xvfb)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        test_id = item.nodeid.split("/")[-1]
        if test_id in SLOW or test_id.split("[")[0] in SLOW:
            item.add_marker(pytest.mark.slow)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to test another checkout's ``kiosk`` (an editable install points at one tree only)."""
    import kiosk

    here = Path(kiosk.__file__).resolve().parent
    if here != REPO / "kiosk":
        pytest.exit(f"tests in {REPO} would import kiosk from {here}; run with PYTHONPATH={REPO}", returncode=4)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every kiosk module the run imported came from this tree (a moved module's old name can
    otherwise resolve to another checkout through the editable install's path finder)."""
    foreign = sorted(name for name, mod in list(sys.modules.items())
                     if name.split(".")[0] == "kiosk" and getattr(mod, "__file__", None)
                     and not Path(mod.__file__).resolve().is_relative_to(REPO))
    if foreign:
        session.exitstatus = 1
        print(f"\nconftest: kiosk modules imported from outside {REPO}: {', '.join(foreign)}", file=sys.stderr)


@pytest.fixture
def fetched_models() -> None:
    """Every model the kiosk loads is present and verified, or the test FAILS (see modelkit)."""
    from modelkit import require_model

    for name in ("yunet", "sface", "age", "gender", "expression"):
        require_model(name)


@pytest.fixture
def fetched_photos() -> None:
    """The demo scene's photos are present, or the test FAILS (see modelkit)."""
    from modelkit import require_demo_scene

    require_demo_scene()
